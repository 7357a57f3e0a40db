"""`sugang cluster`: bare Ubuntu machines to a K3s cluster over SSH."""
