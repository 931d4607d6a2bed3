"""Velocity-based training: load-velocity profiles, estimated 1RM, velocity zones."""
