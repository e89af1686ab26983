"""What git's history proves: who signed each commit, and which signed commit set each entry.
Provenance verifies SSH signatures against allowed_signers; attribution reads YAML records.
"""
