"""The first hour, as a new user meets it (plain and --tls alike): the
folder given as the only argument, a generated site served with clean
URLs under the path a proxy publishes it at, and the listening socket
handed over the way systemd's socket activation does."""

import socket

from fixture import PAGE, PAGE_PATH
from harness import Server, ServerError, check, eq, fail, req, request, scheme, started_once

# `sh` runs staticd as descriptor 3 and LISTEN_PID its own pid (`exec`
# keeps the shell's, `$$`): what systemd sets up in the child it forks.
AS_SYSTEMD = 'exec 3<&"$FD"; LISTEN_PID=$$ exec "$0" "$@"'


def generated_site(ctx):
    """A static site generator's output, served with --clean-urls under
    /docs/ (started once)."""
    def make_args():
        root = ctx.base() / "clean"
        (root / "guide").mkdir(parents=True)
        (root / "index.html").write_bytes(b"home\n")
        (root / "about.html").write_bytes(b"about\n")
        (root / "guide" / "index.html").write_bytes(b"guide\n")
        return ["--root", root, "--bind", "127.0.0.1", "--port", "0",
                "--clean-urls", "--base-path", "/docs/"]
    return started_once(ctx, "clean", make_args, "clean-URL server")


def moved(port, target):
    r = request(port, req("GET", target))
    return r.status, r.h("location")


@check
def first_hour_folder_as_the_only_argument(ctx):
    try:
        server = Server(ctx.bin, [ctx.www, "--bind", "127.0.0.1", "--port", "0"])
    except ServerError as e:
        fail(f"staticd DIR did not start: {e}")
    try:
        r = request(server.port, req("GET", PAGE_PATH))
        eq((r.status, r.body), (200, PAGE), f"GET {PAGE_PATH} from the positional root")
    finally:
        server.stop()


@check
def first_hour_clean_urls_answer_without_extension(ctx):
    port = generated_site(ctx)
    for target, body in (("/about", b"about\n"), ("/guide/", b"guide\n"), ("/", b"home\n")):
        r = request(port, req("GET", target))
        eq((r.status, r.h("content-type"), r.body), (200, "text/html", body), f"GET {target}")


@check
def first_hour_clean_urls_redirect_under_the_base_path(ctx):
    port = generated_site(ctx)
    eq(moved(port, "/about.html?x=1"), (308, "/docs/about?x=1"), "/about.html")
    eq(moved(port, "/guide/index.html"), (308, "/docs/guide/"), "/guide/index.html")
    eq(moved(port, "/index.html"), (308, "/docs/"), "/index.html")
    eq(moved(port, "/guide"), (301, "/docs/guide/"), "/guide (directory without slash)")


@check
def first_hour_socket_activation(ctx):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        fd = listener.fileno()
        env = {"FD": str(fd), "LISTEN_FDS": "1", "LISTEN_FDNAMES": scheme()}
        try:
            server = Server(ctx.bin, ["--root", ctx.www], env=env,
                            prefix=["sh", "-c", AS_SYSTEMD], pass_fds=(fd,))
        except ServerError as e:
            fail(f"staticd with an inherited socket did not start: {e}")
    finally:
        listener.close()
    try:
        eq(server.port, port, "the port announced is the inherited socket's")
        if not any(f"inherited fd 3 {scheme()}" in line for line in server.stderr_lines):
            fail(f"no 'inherited fd 3 {scheme()}' line: {server.stderr_lines[:5]}")
        r = request(port, req("GET", PAGE_PATH))
        eq((r.status, r.body), (200, PAGE), f"GET {PAGE_PATH} on the inherited socket")
    finally:
        server.stop()
