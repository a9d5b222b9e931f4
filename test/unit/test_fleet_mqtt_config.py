"""The Mosquitto template and ACL, the operator's identity, the robot's MQTT link offline."""

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from fleet_fixtures import now

from robo_edge.exceptions import FleetError
from robo_edge.sync import mosquitto, tls
from robo_edge.sync.mqtt import MqttLink
from robo_edge.sync.pki import OPERATOR, FleetCA
from robo_edge.sync.uplink import Item, Send

FLEET = Path(__file__).resolve().parents[2] / 'config' / 'fleet'


def _directives(conf: str) -> list[str]:
    return [line.strip() for line in conf.splitlines()
            if line.strip() and not line.lstrip().startswith('#')]


def test_the_shipped_template_renders_a_tls_only_broker(tmp_path):
    ca = FleetCA(tmp_path / 'pki')
    ca.init(now())
    broker = mosquitto.Broker(tmp_path / 'run', '127.0.0.1', 18883)
    conf = mosquitto.write_run_folder(broker, ca, FLEET / mosquitto.TEMPLATE,
                                      FLEET / mosquitto.ACL).read_text()
    lines = _directives(conf)
    assert '@' not in conf
    assert [x for x in lines if x.startswith('listener')] == ['listener 18883 127.0.0.1']
    tls_dir = (tmp_path / 'run' / 'tls').resolve()
    for needed in ('allow_anonymous false', 'require_certificate true',
                   'use_identity_as_username true', 'use_username_as_clientid true',
                   f'crlfile {tls_dir}/crl.pem', f'cafile {tls_dir}/ca.crt',
                   f'acl_file {(tmp_path / "run").resolve()}/mosquitto.acl'):
        assert needed in lines, needed
    assert oct((tls_dir / 'server.key').stat().st_mode)[-3:] == '600'
    assert (tls_dir / 'crl.pem').read_bytes() == ca.path('crl.pem').read_bytes()
    assert broker.url == 'mqtts://127.0.0.1:18883'


def test_the_acl_confines_robots_to_their_own_topics():
    acl = _directives((FLEET / mosquitto.ACL).read_text())
    patterns = [x for x in acl if x.startswith('pattern')]
    assert patterns == ['pattern write robots/%u/#', 'pattern read fleet/#']
    operator = acl.index(f'user {OPERATOR}')
    assert acl[operator + 1:operator + 3] == ['topic read robots/#', 'topic readwrite fleet/#']
    assert not [x for x in acl[:operator] if x.startswith('topic')]  # nothing for anonymous


def test_the_operator_identity_is_no_robot_id(tmp_path):
    ca = FleetCA(tmp_path / 'pki')
    ca.init(now())
    cert = ca.issue_operator(tmp_path / 'op', now())
    assert cert.subject.rfc4514_string() == f'CN={OPERATOR}'
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert oct((tmp_path / 'op' / tls.KEY).stat().st_mode)[-3:] == '600'
    tls.TlsConfig.from_dir(tmp_path / 'op').context()  # a usable client identity
    with pytest.raises(FleetError, match='must match'):
        tls.check_robot_id(OPERATOR)  # so no robot can be issued the operator's name
    assert ca.revoke(OPERATOR, now()) == [cert.serial_number]


def test_the_link_maps_queue_kinds_to_its_own_topics():
    link = MqttLink('r7', '127.0.0.1', 1, None)
    assert [link.topic(k) for k in ('telemetry', 'event', 'mode')] == [
        'robots/r7/telemetry', 'robots/r7/events', 'robots/r7/mode']
    with pytest.raises(FleetError, match="kind 'map' has no MQTT topic"):
        link(Item(1, 5, 'map', 'm.pgm', 0, b''))
    with pytest.raises(FleetError, match='must match'):
        MqttLink('r7/#', '127.0.0.1', 1, None)


def test_an_unconnected_link_keeps_the_item():
    link = MqttLink('r7', '127.0.0.1', 1, None)
    assert not link.connected
    assert link(Item(1, 1, 'telemetry', 't.json', 0, b'{}')) is Send.RETRY
