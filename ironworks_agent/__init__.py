"""The Ironworks agent: runs in the deploy ramdisk, standard library only (docs/provisioning.md).

`python3 -m ironworks_agent` starts it; `protocol.py` is the wire format the server shares.
"""
