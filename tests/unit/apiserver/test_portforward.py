"""The pure pieces of pods/portforward: port parsing, subprotocol choice, how a failed dial reads."""

from __future__ import annotations

import errno

import pytest
from multidict import MultiDict

from herd.apiserver.errors import StatusError
from herd.apiserver.portforward import choose_protocol, dial_failure, requested_ports


def test_ports_come_from_every_ports_parameter_and_comma_lists() -> None:
    assert requested_ports(MultiDict([("ports", "2379"), ("ports", "6443,10250")])) == [2379, 6443, 10250]


@pytest.mark.parametrize("value", ["", "0", "65536", "-1", "http", "2379,", " 2379"])
def test_a_bad_port_is_a_bad_request(value: str) -> None:
    with pytest.raises(StatusError) as refused:
        requested_ports(MultiDict([("ports", value)]))
    assert (refused.value.code, refused.value.reason) == (400, "BadRequest")


def test_the_clients_first_served_subprotocol_wins_and_none_means_binary() -> None:
    assert choose_protocol("") == ""
    assert choose_protocol("SPDY/3.1+portforward.k8s.io, v4.base64.channel.k8s.io, v4.channel.k8s.io") == \
        "v4.base64.channel.k8s.io"
    with pytest.raises(StatusError) as refused:
        choose_protocol("portforward.k8s.io")
    assert refused.value.code == 400


def test_a_failed_dial_reads_like_the_kubelets() -> None:
    assert dial_failure(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")) == "connection refused"
    assert dial_failure(TimeoutError()) == "i/o timeout"
    assert dial_failure(OSError(errno.EHOSTUNREACH, "x")) == "no route to host"
    assert dial_failure(ConnectionError("no dialer")) == "no dialer"
