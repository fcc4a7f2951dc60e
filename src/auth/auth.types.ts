import type { ApiKeyRole } from '../common/enums';

/** Who is calling: resolved from the bearer key once per request (or WebSocket connection). */
export interface AuthInfo {
  /** The api_key row id, or 'env-admin' for ADMIN_API_KEY. */
  keyId: string;
  name: string;
  role: ApiKeyRole;
  userId: string | null;
  projectId: string | null;
  service: string | null;
}
