"""`xsync export`: a spec written from what the server holds, and an existing spec refreshed
from it."""

# The fields an export manages unless told otherwise: the HCP upload guide's set. Here, not in
# `document`, so that `xsync --help` can show it without importing the exporter.
DEFAULT_FIELDS = "subject.gender,subject.age,session.scanner,scan.type,scan.series_description,custom"
