/** Injection token of the DNS TXT adapter (DnsTxtResolver). */
export const TXT_RESOLVER = Symbol('TxtResolver');
