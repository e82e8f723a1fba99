"""An HAProxy configuration in front of Mainsail replicas (Compose, and bare VMs).

One frontend per service (the control plane, each endpoint's data plane), each with a
backend that health-checks its replicas on the readiness route, so a replica that is
starting, draining or dead gets no new requests. A request whose connection fails, or
whose replica closed the connection without answering (a replica going away), is retried
on another replica: ``retry-on conn-failure empty-response response-timeout`` with
``option redispatch``. Inference is a pure function of its input, so a retried request is
safe; it may appear twice in the prediction log if the first replica logged it before
dying.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mainsail.core._errors import InvalidValueError


@dataclass(frozen=True)
class Backend:
    """Replicas of one service behind one frontend port.

    ``servers`` are ``host:port`` addresses; or, with ``dns_name`` (Compose, where every
    replica of a service answers one DNS name), up to ``dns_slots`` replicas found through
    the resolver.
    """

    name: str
    port: int
    health_path: str
    servers: tuple[str, ...] = ()
    dns_name: str | None = None
    dns_slots: int = 0
    bind: str = "*"


@dataclass(frozen=True)
class Timing:
    """Health-check and timeout settings (seconds)."""

    check_interval_s: float = 1.0
    fall: int = 2
    rise: int = 2
    connect_s: float = 2.0
    server_s: float = 30.0
    client_s: float = 60.0
    retries: int = 3


@dataclass
class HAProxyConfig:
    backends: list[Backend]
    timing: Timing = field(default_factory=Timing)
    stats_socket: str | None = None  # the runtime API (enable/disable/drain servers)
    docker_dns: bool = False
    pid_file: str | None = None

    def render(self) -> str:
        """The configuration file's text (``haproxy -c -f`` accepts it)."""
        if not self.backends:
            raise InvalidValueError("Expected at least one backend for HAProxy. Got none.")
        names = [b.name for b in self.backends]
        if len(set(names)) != len(names):
            raise InvalidValueError(f"Expected unique backend names. Got {names}.")
        t = self.timing
        ms = _ms
        # One line per request on stdout (a container's log): status, timings and HAProxy's
        # termination flags, the first place to look when a request failed.
        out = ["global", "  maxconn 4096", "  log stdout format raw local0"]
        if self.stats_socket:
            out.append(f"  stats socket {self.stats_socket} mode 600 level admin")
        if self.pid_file:
            out.append(f"  pidfile {self.pid_file}")
        out += [
            "",
            "defaults",
            "  mode http",
            "  log global",
            "  option httplog",
            f"  timeout connect {ms(t.connect_s)}",
            f"  timeout client {ms(t.client_s)}",
            f"  timeout server {ms(t.server_s)}",
            "  timeout http-keep-alive 10s",
            f"  retries {t.retries}",
            "  option redispatch 1",
            "  retry-on conn-failure empty-response response-timeout",
            "  option http-keep-alive",
        ]
        if self.docker_dns:
            out += [
                "",
                "resolvers docker",
                "  nameserver dns 127.0.0.11:53",
                "  hold valid 5s",
            ]
        for b in self.backends:
            if not b.servers and not b.dns_name:
                raise InvalidValueError(
                    f"Backend {b.name!r} has no servers: give host:port addresses or a DNS name."
                )
            out += [
                "",
                f"frontend fe_{b.name}",
                f"  bind {b.bind}:{b.port}",
                f"  default_backend be_{b.name}",
                "",
                f"backend be_{b.name}",
                "  balance roundrobin",
                f"  option httpchk GET {b.health_path}",
                "  http-check expect status 200",
                f"  default-server inter {ms(t.check_interval_s)} fall {t.fall} rise {t.rise}",
            ]
            for i, addr in enumerate(b.servers, start=1):
                out.append(f"  server {b.name}{i} {addr} check")
            if b.dns_name:
                out.append(
                    f"  server-template {b.name} {b.dns_slots} {b.dns_name} check "
                    "resolvers docker init-addr none"
                )
        return "\n".join(out) + "\n"


def _ms(seconds: float) -> str:
    return f"{int(round(seconds * 1000))}ms"
