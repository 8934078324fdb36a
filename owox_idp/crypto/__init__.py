"""Pure cryptographic helpers that reproduce Better Auth's and OWOX's formats byte for byte."""
