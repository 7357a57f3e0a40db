"""Users, passwords, bearer tokens and the role checks handlers depend on."""
