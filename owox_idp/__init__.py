"""owox-idp: administer a Better Auth identity database directly."""

__version__ = "0.1.0"
