"""Offline validation of the GitOps artifacts: manifests, Argo CD kinds, workflows, image."""
