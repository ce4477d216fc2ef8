#!/usr/bin/python3
"""Write vectors.txt: argon2id PHC strings made by argon2-cffi (the reference
C implementation of argon2, through Python), which internal/passwords must
verify. Debian: python3-argon2.

  /usr/bin/python3 internal/passwords/testdata/make_vectors.py > internal/passwords/testdata/vectors.txt
"""
from argon2.low_level import Type, hash_secret

CASES = [
    (b"password", b"0123456789abcdef", 2, 19456, 1),
    (b"correct horse battery staple", b"saltsaltsaltsalt", 3, 65536, 4),
    ("wachtwoord met één accent".encode(), b"another-16-bytes", 1, 8192, 2),
]
for pw, salt, t, m, p in CASES:
    phc = hash_secret(pw, salt, time_cost=t, memory_cost=m, parallelism=p, hash_len=32, type=Type.ID).decode()
    print(pw.decode() + "\t" + phc)
