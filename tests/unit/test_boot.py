"""Boot services rendering: dnsmasq configuration, the hosts directory, iPXE scripts, config
drives (built for real with dosfstools and mtools, read back with mtools)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ironworks.boot import configdrive, ipxe
from ironworks.boot.dnsmasq import HostsDir, Paths, host_lines, render_config
from ironworks.common.errors import ConfigError, InvalidInput
from ironworks.common.settings import BootSettings
from ironworks.domain import states


def _conf(**kw: object) -> dict[str, list[str]]:
    text = render_config(BootSettings(**kw), Paths(Path("/srv/boot")))
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        assert "#" not in line or line.startswith("#"), "dnsmasq takes comments on own lines only"
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_ipv4_config_serves_known_macs_and_chains_ipxe() -> None:
    c = _conf()
    assert c["port"] == ["0"]  # no DNS
    assert c["interface"] == ["iwbr0"]
    assert c["dhcp-range"] == ["set:prov,10.99.1.0,10.99.255.254,255.255.0.0,1h"]
    assert c["dhcp-hostsdir"] == ["/srv/boot/hosts"]
    assert c["dhcp-ignore"] == ["tag:!known"]
    assert "no-ping" in c
    assert c["dhcp-option"][:2] == ["option:router", "option:dns-server"]  # empty: none given
    assert "tag:ipxe,encap:175,176,1b" in c["dhcp-option"]
    boots = c["dhcp-boot"]
    assert "tag:!ipxe,tag:!efi64,tag:!efiarm64,undionly.kpxe" in boots
    assert "tag:!ipxe,tag:efi64,snponly.efi" in boots
    assert "tag:ipxe,http://10.99.0.1:8080/boot/boot.ipxe" in boots
    assert "enable-ra" not in c


def test_discovery_answers_unknown_macs() -> None:
    assert "dhcp-ignore" not in _conf(discovery=True)


def test_ipv6_ra_only_and_dhcpv6_boot_url() -> None:
    ra = _conf(http_address6="fd99::1")
    assert "enable-ra" in ra and ra["ra-param"] == ["iwbr0,60,0"]
    assert "fd99::,ra-only" in ra["dhcp-range"]
    full = _conf(http_address6="fd99::1", dhcp_range6="fd99::100,fd99::1ff,64")
    assert "set:prov6,fd99::100,fd99::1ff,64,1h" in full["dhcp-range"]
    assert (
        "tag:ipxe6,option6:bootfile-url,http://[fd99::1]:8080/boot/boot.ipxe" in full["dhcp-option"]
    )
    assert "tag:!ipxe6,option6:bootfile-url,tftp://[fd99::1]/snponly.efi" in full["dhcp-option"]


def test_bad_address_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="http_address"):
        render_config(BootSettings(http_address="10.99.0.300"), Paths(Path("/x")))


def test_hosts_dir_writes_only_changes_and_removes_gone_nodes(tmp_path: Path) -> None:
    hosts = HostsDir(tmp_path / "hosts")
    a, b = "11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
    assert hosts.sync(
        {a: ["52:54:00:00:00:02", "52:54:00:00:00:01"], b: ["52:54:00:00:00:03"]}
    ) == (2, 0)
    assert (tmp_path / "hosts" / a).read_text() == (
        "52:54:00:00:00:01,set:n-11111111\n52:54:00:00:00:02,set:n-11111111\n"
    )
    before = (tmp_path / "hosts" / a).stat().st_mtime_ns
    assert hosts.sync({a: ["52:54:00:00:00:01", "52:54:00:00:00:02"]}) == (0, 1)
    assert (tmp_path / "hosts" / a).stat().st_mtime_ns == before
    assert sorted(p.name for p in (tmp_path / "hosts").iterdir()) == [a]
    with pytest.raises(ValueError, match="not a MAC"):
        host_lines(["52:54:00:00:00"], "t")


def test_node_script_boots_the_ramdisk_in_agent_states_and_the_disk_otherwise() -> None:
    boot = ipxe.RamdiskBoot("http://10.99.0.1:8080", "uuid-1", "x86_64", "deploy")
    text = ipxe.ramdisk_script(boot)
    assert text.startswith("#!ipxe\n")
    assert "kernel http://10.99.0.1:8080/boot/ramdisk/x86_64/kernel console=ttyS0 " in text
    assert "ironworks.api=http://10.99.0.1:8080 ironworks.node=uuid-1 " in text
    assert "BOOTIF=01-${netX/mac:hexhyp}" in text
    assert "initrd --name initramfs http://10.99.0.1:8080/boot/ramdisk/x86_64/initramfs" in text
    arm = ipxe.ramdisk_script(ipxe.RamdiskBoot("http://h", "u", "aarch64", "inspect"))
    assert "/ramdisk/aarch64/kernel console=ttyAMA0" in arm
    unknown = ipxe.ramdisk_script(ipxe.RamdiskBoot("http://h", None, None, "discover"))
    assert "/ramdisk/${buildarch}/kernel" in unknown and "ironworks.node" not in unknown
    assert "sanboot --no-describe --drive 0x80" in ipxe.local_boot_script("u", "active", False)
    assert "sanboot" not in ipxe.local_boot_script("u", "active", True)
    for s in (states.DEPLOY_WAIT, states.CLEAN_WAIT, states.INSPECT_WAIT):
        assert s in states.AGENT_STATES
    for s in (states.ACTIVE, states.AVAILABLE, states.MANAGEABLE, states.DEPLOY_FAILED):
        assert s not in states.AGENT_STATES


def test_entry_script_chains_to_the_mac_script() -> None:
    assert "chain --autofree http://b/boot/${netX/mac:hexhyp}.ipxe" in ipxe.entry_script("http://b")


needs_mtools = pytest.mark.skipif(
    not (shutil.which("mkfs.vfat") and shutil.which("mcopy")), reason="dosfstools/mtools missing"
)


@needs_mtools
def test_configdrive_object_becomes_a_config2_vfat(tmp_path: Path) -> None:
    node = {
        "uuid": "n-1",
        "name": "node-a",
        "instance_uuid": "i-1",
        "properties": {"availability_zone": "az1"},
        "instance_info": {},
    }
    drive = {
        "meta_data": {"hostname": "web-1", "public_keys": {"k": "ssh-ed25519 AAAA"}},
        "user_data": "#!/bin/sh\necho hi\n",
        "network_data": {"links": []},
    }
    out = configdrive.build(node, drive, tmp_path / "cd.img")
    label = subprocess.run(
        ["mlabel", "-s", "-i", str(out), "::"],
        capture_output=True,
        text=True,
        env={"MTOOLS_SKIP_CHECK": "1"},
        check=True,
    ).stdout
    assert "CONFIG-2" in label
    md = json.loads(
        subprocess.run(
            ["mtype", "-i", str(out), "::openstack/latest/meta_data.json"],
            capture_output=True,
            env={"MTOOLS_SKIP_CHECK": "1"},
            check=True,
        ).stdout
    )
    assert md["hostname"] == "web-1" and md["uuid"] == "i-1" and md["availability_zone"] == "az1"
    user = subprocess.run(
        ["mtype", "-i", str(out), "::openstack/latest/user_data"],
        capture_output=True,
        env={"MTOOLS_SKIP_CHECK": "1"},
        check=True,
    ).stdout
    assert user == b"#!/bin/sh\necho hi\n"


def test_first_boot_url_joins_the_requests_vendor_data() -> None:
    url = "http://10.99.0.1:8080/api/v1/agent/first-boot/n-1/tok"
    plain = configdrive.first_boot_vendor_data(None, url)
    assert plain["ironworks"] == {"first_boot_url": url}
    assert (
        plain["cloud-init"].startswith("#cloud-config\n") and f'url: "{url}"' in plain["cloud-init"]
    )
    given = {"ironworks": {"site": "b3"}, "cloud-init": "#cloud-config\nruncmd: [true]\n", "x": 1}
    merged = configdrive.first_boot_vendor_data(given, url)
    assert merged == {
        "ironworks": {"site": "b3", "first_boot_url": url},
        "x": 1,
        "cloud-init": "#cloud-config\nruncmd: [true]\n",
    }  # the tenant's stays
    assert given["ironworks"] == {"site": "b3"}  # the request itself is not changed
    assert "cloud-init" not in configdrive.first_boot_vendor_data(None, url, phone_home=False)


def test_configdrive_bad_input_names_the_field(tmp_path: Path) -> None:
    node = {"uuid": "n-1", "instance_info": {}}
    with pytest.raises(InvalidInput) as e:
        configdrive.build(node, {"meta": {}}, tmp_path / "x")
    assert e.value.field == "configdrive/meta"
    with pytest.raises(InvalidInput, match="gzipped"):
        configdrive.build(node, "not base64 gzip", tmp_path / "x")
    with pytest.raises(InvalidInput) as e:
        configdrive.build(node, {"network_data": []}, tmp_path / "x")
    assert e.value.field == "configdrive/network_data"


def test_configdrive_encoded_image_is_written_as_given(tmp_path: Path) -> None:
    import base64
    import gzip

    raw = b"ISO" * 1000
    out = configdrive.build(
        {"uuid": "n"}, base64.b64encode(gzip.compress(raw)).decode(), tmp_path / "c"
    )
    assert out.read_bytes() == raw


# --- arm64 UEFI: GRUB instead of iPXE ------------------------------------------------------------


def test_arm64_uefi_gets_the_grub_image() -> None:
    boots = _conf()["dhcp-boot"]
    assert "tag:!ipxe,tag:efiarm64,grubnetaa64.efi" in boots
    assert "efiarm64" in " ".join(_conf()["dhcp-match"]) and "client-arch,11" in " ".join(
        _conf()["dhcp-match"]
    )


def test_grub_tftp_config_loads_the_node_config_from_the_boot_listener() -> None:
    from ironworks.boot import grub

    text = grub.tftp_config("http://10.99.0.1:8080")
    assert 'configfile "(http,10.99.0.1:8080)/boot/grub/${net_default_mac}.cfg"' in text
    assert text.rstrip().endswith("exit")  # no configuration: the firmware's next boot device
    assert grub.http_device("http://[fd99::1]:8080/") == "(http,[fd99::1]:8080)"


def test_grub_node_config_boots_the_ramdisk_or_exits() -> None:
    from ironworks.boot import grub

    boot = ipxe.RamdiskBoot(
        "http://10.99.0.1:8080", "uuid-1", "aarch64", "inspect", "ipv6.disable=1 x=$y", debug=True
    )
    text = grub.ramdisk_config(boot, "52:54:00:99:00:0A")
    assert (
        "linux '(http,10.99.0.1:8080)/boot/ramdisk/aarch64/kernel' 'console=ttyAMA0' "
        "'ironworks.api=http://10.99.0.1:8080' 'ironworks.node=uuid-1' "
        "'BOOTIF=01-52-54-00-99-00-0a' 'ironworks.debug=1' 'ipv6.disable=1' 'x=$y'"
    ) in text
    assert "initrd '(http,10.99.0.1:8080)/boot/ramdisk/aarch64/initramfs'" in text
    assert "for try in 1 2 3 4 5; do" in text and text.rstrip().endswith("reboot")
    assert "booting the agent ramdisk (inspect)" in text
    # a machine that says nothing of its architecture is arm64: only those boot GRUB
    unknown = grub.ramdisk_config(
        ipxe.RamdiskBoot("http://h:1", None, None, "discover"), "52:54:00:00:00:01"
    )
    assert "(http,h:1)/boot/ramdisk/aarch64/kernel" in unknown and "ironworks.node" not in unknown
    assert "an unknown machine (52:54:00:00:00:01)" in unknown
    local = grub.local_boot_config("uuid-1", "active")
    assert local.splitlines() == [
        "echo 'Ironworks: node uuid-1 is active: booting from the local disk'",
        "exit",
    ]
    assert grub.quote("it's") == "'it'\\''s'"


def test_tftp_root_gets_the_grub_image_and_its_config(tmp_path: Path) -> None:
    from ironworks.boot.dnsmasq import populate_tftp

    ipxe_dir, ramdisks, tftp = tmp_path / "ipxe", tmp_path / "ramdisk", tmp_path / "tftp"
    ipxe_dir.mkdir()
    (ipxe_dir / "undionly.kpxe").write_bytes(b"pxe")
    cfg = BootSettings(ipxe_dir=ipxe_dir)
    assert populate_tftp(cfg, tftp, ramdisks) == ["snponly.efi", "grubnetaa64.efi"]
    (ramdisks / "aarch64").mkdir(parents=True)
    (ramdisks / "aarch64" / "grubnetaa64.efi").write_bytes(b"MZ grub")
    assert populate_tftp(cfg, tftp, ramdisks) == ["snponly.efi"]
    assert (tftp / "grubnetaa64.efi").read_bytes() == b"MZ grub"
    assert "(http,10.99.0.1:8080)/boot/grub/" in (tftp / "grub" / "grub.cfg").read_text()
    assert populate_tftp(cfg, tftp) == ["snponly.efi"]  # the copy in the TFTP root serves


def test_tftp_files_are_world_readable_under_the_servers_umask(tmp_path: Path) -> None:
    """dnsmasq as root serves only world-readable files; the server runs with umask 027."""
    import os

    from ironworks.boot.dnsmasq import populate_tftp

    ipxe_dir, ramdisks, tftp = tmp_path / "ipxe", tmp_path / "ramdisk", tmp_path / "tftp"
    ipxe_dir.mkdir()
    (ipxe_dir / "undionly.kpxe").write_bytes(b"pxe")
    (ramdisks / "aarch64").mkdir(parents=True)
    (ramdisks / "aarch64" / "grubnetaa64.efi").write_bytes(b"MZ grub")
    old = os.umask(0o027)
    try:
        populate_tftp(BootSettings(ipxe_dir=ipxe_dir), tftp, ramdisks)
    finally:
        os.umask(old)
    for name in ("undionly.kpxe", "grubnetaa64.efi", "grub/grub.cfg"):
        assert (tftp / name).stat().st_mode & 0o004, name


def test_boot_listener_sends_title_case_header_names() -> None:
    """GRUB 2.06 reads `Content-Length: ` byte for byte (Starlette writes lower case)."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse
    from fastapi.testclient import TestClient

    from ironworks.api.boot import TitleCaseHeaders

    app = FastAPI()

    @app.get("/x")
    def x() -> PlainTextResponse:
        return PlainTextResponse("hello", headers={"x-openstack-request-id": "r"})

    app.add_middleware(TitleCaseHeaders)
    raw = dict(TestClient(app).get("/x").headers.raw)
    assert raw[b"Content-Length"] == b"5" and b"Content-Type" in raw
    assert raw[b"X-Openstack-Request-Id"] == b"r" and b"Connection" not in raw
    grub = TestClient(app).get("/x", headers={"User-Agent": "GRUB 2.06-13+deb12u2"})
    assert dict(grub.headers.raw)[b"Connection"] == b"close"  # GRUB reuses its ports


def test_configdrive_gzip_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    import base64
    import gzip

    bomb = base64.b64encode(gzip.compress(b"\0" * (configdrive.MAX_IMAGE + 1))).decode()
    with pytest.raises(InvalidInput, match="more than"):
        configdrive.build({"uuid": "n"}, bomb, tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_hosts_dir_counts_a_shrunk_node_as_removed(tmp_path: Path) -> None:
    hosts = HostsDir(tmp_path / "hosts")
    a = "11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    hosts.sync({a: ["52:54:00:00:00:01", "52:54:00:00:00:02"]})
    assert hosts.sync({a: ["52:54:00:00:00:01"]}) == (1, 1)  # written, and dnsmasq needs a HUP


def test_the_agent_reads_back_what_both_boot_loaders_put_on_its_command_line() -> None:
    import shlex

    from ironworks.boot import grub
    from ironworks_agent import protocol
    from ironworks_agent.__main__ import bootif_mac, parse_cmdline

    boot = ipxe.RamdiskBoot(
        "http://10.99.0.1:8080",
        "uuid-1",
        "x86_64",
        "deploy",
        "ipv6.disable=1",
        debug=True,
        boot_id="b-1",
    )
    mac = "52:54:00:99:00:0a"
    ipxe_line = next(x for x in ipxe.ramdisk_script(boot).splitlines() if x.startswith("kernel "))
    ipxe_words = ipxe_line.replace("${netX/mac:hexhyp}", mac.replace(":", "-")).split()[2:-3]
    grub_line = next(x for x in grub.ramdisk_config(boot, mac).splitlines() if "linux " in x)
    grub_words = shlex.split(grub_line.split(";")[0])[3:]
    for words in (ipxe_words, grub_words):
        seen = parse_cmdline(" ".join(words))
        assert seen[protocol.CMDLINE_API] == "http://10.99.0.1:8080"
        assert seen[protocol.CMDLINE_NODE] == "uuid-1" and seen[protocol.CMDLINE_BOOT] == "b-1"
        assert seen[protocol.CMDLINE_DEBUG] == "1" and seen["ipv6.disable"] == "1"
        assert bootif_mac(seen[protocol.CMDLINE_BOOTIF]) == mac
