"""`xsync export`: a spec written from what the server holds, and an existing spec refreshed
from it."""
