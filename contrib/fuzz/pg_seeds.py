#!/usr/bin/python3
"""Turn recorded sessions (t/unit/vectors/pg-*.hex) into fuzz_pg inputs: option byte, then
[side][len LE16][bytes] per recorded read; one seed per session and option byte."""
import glob, os, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
n = 0
for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "../../t/unit/vectors/pg-*.hex"))):
    sess = []
    for line in open(path):
        line = line.strip()
        if line == "END":
            for opt in (0, 1, 4):
                body = bytearray([opt])
                for side, b in sess:
                    for i in range(0, len(b), 0xFFFF):
                        chunk = b[i:i + 0xFFFF]
                        body += bytes([side]) + len(chunk).to_bytes(2, "little") + chunk
                with open(os.path.join(out, "seed-%03d" % n), "wb") as f:
                    f.write(body)
                n += 1
            sess = []
        elif line:
            sess.append((0 if line[0] == "F" else 1, bytes.fromhex(line[2:])))
print("%d seeds in %s" % (n, out))
