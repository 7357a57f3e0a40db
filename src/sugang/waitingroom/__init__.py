"""The virtual waiting room: fair order, admission at a rate the service can serve."""
