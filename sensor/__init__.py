"""The hardware edge: I2C on smbus2, the VL53L0X via the adafruit driver, a fake chip, traces."""
