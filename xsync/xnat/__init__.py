"""The XNAT client: one requests.Session, typed errors, safe retries, and the bulk read of a
project into a RemoteState."""
