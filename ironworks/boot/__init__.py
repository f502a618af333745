"""Boot services rendering: dnsmasq configuration and host files, iPXE scripts.

Pure rendering and file writing; may import ironworks.domain and ironworks.common."""
