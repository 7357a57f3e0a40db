"""Deploying sugang to a K3s cluster: render the kustomize kit, apply it, wait for it."""
