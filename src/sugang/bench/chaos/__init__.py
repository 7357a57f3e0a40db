"""`sugang bench chaos`: the rush with faults injected, on one machine, with real parts."""
