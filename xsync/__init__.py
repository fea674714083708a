"""xsync: keep an XNAT project in the state a site declares in YAML.

Not to be confused with XNAT's server-side "XSync" project-sync plugin.
"""

__version__ = "0.1.0"
