/**
 * One client per region, built on first use and reused afterwards (across warm invocations in Lambda): ECR
 * answers in the repository's region, and events forwarded from other regions need their own client. The edge
 * passes the factory; core never constructs clients itself.
 */
export function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const clients = new Map<string, T>();
  return (region) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = make(region);
      clients.set(region, client);
    }
    return client;
  };
}
