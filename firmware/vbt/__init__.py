"""Velocity-based training: load-velocity profiles, estimated 1RM, velocity zones."""

# Mean velocity at which a leg press 1RM was reached: mean propulsive velocity 0.21 ± 0.06 m/s
# over 15 lifters (Conceição et al. 2016, J Sports Sci 34(12):1099-1106,
# doi:10.1080/02640414.2015.1090010). A default only: `[vbt] mvt_m_s` sets the lifter's own.
# Here rather than in profile.py so that the config (the device's start-up) need not load it.
DEFAULT_MVT_M_S = 0.21
