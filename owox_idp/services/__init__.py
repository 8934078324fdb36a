"""One function per command. Services own the rules and raise typed errors; they never print."""
