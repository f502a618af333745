"""Builders of boot artefacts from Debian packages: the agent ramdisk, the lab test OS image.

May import ironworks.common only."""
