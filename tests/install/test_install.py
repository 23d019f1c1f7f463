"""`cmake --install` and the systemd unit it installs (docs/operations.md,
"Running as a service").

The build tree is installed under a scratch DESTDIR. Checked: the unit's
ExecStart names the installed binary; `systemd-analyze verify` accepts the
unit (when systemd-analyze is on the machine); and the ExecStart command
line, expanded as systemd expands it (`${STATE_DIRECTORY}` as one word,
`$BELLHOP_ARGS` split at spaces) in the environment that /etc/bellhop/env
would give it (the secret, the extra flags), starts a server that answers /healthz, keeps its store in the state
directory and exits 0 on SIGTERM.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.request

BUILD_DIR = os.environ.get("BELLHOP_BUILD_DIR", "build")
UNIT = "bellhop.service"


def unit_settings(text):
    """The unit's Key=value lines, as a dict of lists (keys repeat)."""
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def expand_exec(command, env):
    """systemd's expansion of an ExecStart line: ${VAR} is one word, $VAR
    is split at whitespace (systemd.service(5), "Command lines")."""
    words = []
    for word in shlex.split(command):
        whole = re.fullmatch(r"\$\{(\w+)\}", word)
        split = re.fullmatch(r"\$(\w+)", word)
        if whole:
            words.append(env.get(whole.group(1), ""))
        elif split:
            words.extend(env.get(split.group(1), "").split())
        else:
            words.append(word)
    return words


class InstalledServiceTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="bellhop-install-")
        env = dict(os.environ, DESTDIR=cls.root)
        subprocess.run(["cmake", "--install", BUILD_DIR], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        units = [os.path.join(d, UNIT) for d, _, files in os.walk(cls.root)
                 if UNIT in files]
        assert len(units) == 1, units
        with open(units[0]) as f:
            cls.unit_text = f.read()
        cls.settings = unit_settings(cls.unit_text)
        cls.exec_start = cls.settings["ExecStart"][0]
        cls.binary = shlex.split(cls.exec_start)[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def installed(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def test_exec_start_runs_the_installed_binary(self):
        self.assertTrue(os.path.isabs(self.binary), self.binary)
        path = self.installed(self.binary)
        self.assertTrue(os.access(path, os.X_OK), path)
        out = subprocess.run([path, "--version"], capture_output=True,
                             text=True, check=True).stdout
        self.assertRegex(out, r"^bellhop \d+\.\d+\.\d+")

    def test_systemd_accepts_the_unit(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze is not installed")
        # The unit as it would read with the binary where it is installed.
        unit_dir = tempfile.mkdtemp(prefix="bellhop-unit-")
        self.addCleanup(shutil.rmtree, unit_dir, True)
        unit = os.path.join(unit_dir, UNIT)
        with open(unit, "w") as f:
            f.write(self.unit_text.replace(self.binary,
                                           self.installed(self.binary)))
        got = subprocess.run([analyze, "verify", unit], capture_output=True,
                             text=True)
        self.assertEqual(got.returncode, 0, got.stdout + got.stderr)
        self.assertEqual(got.stderr.strip(), "")

    def test_stop_settings_match_the_server(self):
        # SIGTERM is the server's clean stop; exit 2 (usage) must not loop.
        self.assertEqual(self.settings["KillSignal"], ["SIGTERM"])
        self.assertEqual(self.settings["RestartPreventExitStatus"], ["2"])
        self.assertEqual(self.settings["StateDirectory"], ["bellhop"])

    def test_exec_start_serves_from_the_state_directory(self):
        state = tempfile.mkdtemp(prefix="bellhop-state-")
        self.addCleanup(shutil.rmtree, state, True)
        # What /etc/bellhop/env would hold.
        env = {"STATE_DIRECTORY": state,
               "BELLHOP_JWT_SECRET": "install-test-secret",
               "BELLHOP_ARGS": "--http-port 0 --ws-port 0 --bind 127.0.0.1"}
        argv = expand_exec(self.exec_start, env)
        argv[0] = self.installed(argv[0])
        server_env = dict(os.environ, **env)
        log = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(log.close)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log,
                                text=True, env=server_env)
        try:
            line = proc.stdout.readline()
            log.seek(0)
            self.assertIn('"event":"listening"', line, log.read())
            port = int(re.search(r'"http":(\d+)', line).group(1))
            base = "http://127.0.0.1:%d" % port
            with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
                self.assertEqual(r.status, 200)
            # The secret came from the environment file.
            jwt = subprocess.run(
                [argv[0], "token", "--sub", "h1", "--role", "host",
                 "--jwt-secret", env["BELLHOP_JWT_SECRET"]],
                capture_output=True, text=True, check=True).stdout.strip()
            count = urllib.request.Request(
                base + "/notifications/count",
                headers={"Authorization": "Bearer " + jwt})
            with urllib.request.urlopen(count, timeout=10) as r:
                self.assertEqual(r.status, 200)
            self.assertTrue(os.path.exists(os.path.join(state, "data.mdb")))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
            finally:
                proc.stdout.close()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
