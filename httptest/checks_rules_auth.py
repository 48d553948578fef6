"""Basic authentication: --auth-file, --auth-path, --auth-realm, end to end
(plain and --tls alike), with an auth file as Apache's htpasswd makes it."""

import base64

from harness import check, eq, req, request, started_once

# `htpasswd -B -C 5 -b -n alice 'open sesame'` (Apache's own tool).
ALICE = "alice:$2y$05$DmR4QNCa/a35NhGBPfqFHeXP2e0SCc8huRovQ7VelZznbtYC2bStu\n"
CHALLENGE = 'Basic realm="Staff only", charset="UTF-8"'


def auth_server(ctx):
    """A server over the www fixture protecting /dir1/** and *.txt (started once)."""
    def make_args():
        users = ctx.base() / "users.htpasswd"
        users.write_text("# staff\n" + ALICE)
        return ["--root", ctx.www, "--bind", "127.0.0.1", "--port", "0",
                "--auth-file", str(users), "--auth-realm", "Staff only",
                "--auth-path", "/dir1/**", "--auth-path", "*.txt"]
    return started_once(ctx, "rules-auth", make_args, "auth server")


def credentials(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Authorization: Basic {token}"


@check
def rules_auth_challenges_without_credentials(ctx):
    port = auth_server(ctx)
    for target in ("/sample.txt", "/dir1/", "/dir2/%2e%2e/dir1/", "/%64ir1/"):
        r = request(port, req("GET", target))
        eq(r.status, 401, f"GET {target}")
        eq(r.h("www-authenticate"), CHALLENGE, f"WWW-Authenticate for {target}")
    head = request(port, req("HEAD", "/sample.txt"), head=True)
    eq((head.status, head.h("content-length")),
       (401, request(port, req("GET", "/sample.txt")).h("content-length")),
       "HEAD mirrors the 401")
    r = request(port, req("GET", "/dir2/page.html"))
    eq(r.status, 200, "a path outside --auth-path needs nothing")


@check
def rules_auth_right_credentials_pass_and_wrong_ones_look_alike(ctx):
    port = auth_server(ctx)
    r = request(port, req("GET", "/sample.txt", credentials("alice", "open sesame")))
    eq(r.status, 200, "alice with her password")
    wrong_password = request(port, req("GET", "/sample.txt", credentials("alice", "nope")))
    wrong_user = request(port, req("GET", "/sample.txt", credentials("mallory", "open sesame")))
    eq((wrong_password.status, wrong_user.status), (401, 401), "wrong password, wrong user")
    eq(wrong_user.body, wrong_password.body, "the same 401 body either way")
    eq(wrong_user.h("www-authenticate"), wrong_password.h("www-authenticate"),
       "the same challenge either way")
