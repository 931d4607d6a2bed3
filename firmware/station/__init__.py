"""The station: sampling loop, engine wiring, buzzer cues, set button, legs, systemd notify."""
