/** The stable error body every HTTP error and every refused agent message carries. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  correlationId?: string;
}
