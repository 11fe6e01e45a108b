//! vimc: the virtual media controller driver.
