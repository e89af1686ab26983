"""Encryption at rest: sops (the only module that runs it), the keys, the plaintext guard.
Keys are the age recipients and SSH signers of agencies.yaml; the guard is a pre-commit hook.
"""
