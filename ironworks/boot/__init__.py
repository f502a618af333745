"""Boot services rendering: dnsmasq configuration and host files, iPXE scripts and GRUB
configurations; `ramdisk.py` holds what both boot loaders need to boot the agent (its kernel
command line built from `ironworks_agent.protocol`).

Pure rendering and file writing; may import ironworks.domain, ironworks.common and
ironworks_agent.protocol (the agent's wire format)."""
