"""Seeds for the dns_answer fuzz target: answers to the fixed request of
src/dns/fuzzing.rs (an SOA query for example.test. signed with the fixed
fuzz-key at SIGNED_AT), in the target's input format: one mode byte (0: the
answer as it arrived; 1: the answer before the server's TSIG, which the
target signs), then the answer.

    python3 fuzz/seed_dns_answers.py request > request.bin   # the request
    python3 fuzz/seed_dns_answers.py synthetic fuzz/corpus/dns_answer

`request` prints the signed request, to send to a nameserver that knows the
key (with its clock near SIGNED_AT) when capturing real answers; the
captured BIND and Knot answers in the corpus were made so. `synthetic` writes
the large answers: ~64 KiB of names that are long, compressed, or chains of
compression pointers, both signed (the MAC verifies, so the decoder reads
them) and with a wrong MAC (only the TSIG locator reads them).
"""
import base64, hmac, hashlib, struct

SECRET = base64.b64decode("ZnV6emluZy1vbmx5LWZ1enppbmctb25seS1mdXp6aW4=")
TIME = 1796290349  # SIGNED_AT in src/dns/fuzzing.rs
ID = 0x2a2a
FUDGE = 60  # tsig::FUDGE_SECONDS

def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"

KEY = name("fuzz-key.")
ALG = name("hmac-sha256.")

def variables(time, error=0, other=b""):
    return (KEY + struct.pack(">HI", 255, 0) + ALG + time.to_bytes(6, "big")
            + struct.pack(">HHH", FUDGE, error, len(other)) + other)

def tsig_rr(mac, orig_id, time, error=0, other=b""):
    rdata = (ALG + time.to_bytes(6, "big") + struct.pack(">HH", FUDGE, len(mac)) + mac
             + struct.pack(">HHH", orig_id, error, len(other)) + other)
    return KEY + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata

def request():
    msg = struct.pack(">HHHHHH", ID, 0, 1, 0, 0, 0) + name("example.test.") + struct.pack(">HH", 6, 1)
    mac = hmac.new(SECRET, msg + variables(TIME), hashlib.sha256).digest()
    signed = bytearray(msg + tsig_rr(mac, ID, TIME))
    signed[10:12] = (1).to_bytes(2, "big")
    return bytes(signed), mac

def sign_response(response, request_mac, time=TIME, error=0, other=b""):
    data = struct.pack(">H", len(request_mac)) + request_mac + response + variables(time, error, other)
    mac = hmac.new(SECRET, data, hashlib.sha256).digest()
    out = bytearray(response + tsig_rr(mac, struct.unpack(">H", response[:2])[0], time, error, other))
    arcount = struct.unpack(">H", response[10:12])[0] + 1
    out[10:12] = arcount.to_bytes(2, "big")
    return bytes(out)


def header(qd, an, ns=0, ar=0, flags=0x8400):
    return struct.pack(">HHHHHH", ID, flags, qd, an, ns, ar)


def long_name_answer():
    """The question's name is 125 one-octet labels (253 octets); ~4,000 A
    records each name it by one compression pointer."""
    qname = b"".join(b"\x01a" for _ in range(125)) + b"\0"
    body = qname + struct.pack(">HH", 6, 1)
    record = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    count = (65_000 - 12 - len(body)) // len(record)
    return header(1, count) + body + record * count


def pointer_chain_answer():
    """Each record's owner is one new label and a pointer to the previous
    record's owner: chains that grow until they pass 255 octets (the
    decoder must refuse, not follow them), repeated to ~64 KiB."""
    out = bytearray(header(1, 0) + b"\x07example\x04test\x00" + struct.pack(">HH", 6, 1))
    count = 0
    previous = 12
    while len(out) < 65_000:
        here = len(out)
        if count % 200 == 0:
            previous = 12
        out += b"\x01b" + struct.pack(">H", 0xC000 | previous)
        out += struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 2])
        previous = here
        count += 1
    out[6:8] = count.to_bytes(2, "big")
    return bytes(out)


def write(directory, file, mode, answer):
    with open(f"{directory}/{file}", "wb") as out:
        out.write(bytes([mode]) + answer)


if __name__ == "__main__":
    import sys

    if sys.argv[1] == "request":
        sys.stdout.buffer.write(request()[0])
    elif sys.argv[1] == "synthetic":
        directory = sys.argv[2]
        _, mac = request()
        for file, answer in [("long-names-64k", long_name_answer()),
                             ("pointer-chains-64k", pointer_chain_answer())]:
            signed = sign_response(answer, mac)
            write(directory, f"{file}-signed", 0, signed)
            forged = signed[:-38] + bytes(32) + signed[-6:]  # MAC zeroed
            write(directory, f"{file}-forged-mac", 0, forged)
            write(directory, f"{file}-to-sign", 1, answer)
