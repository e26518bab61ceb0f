"""`ensign serve` judged by the RFCs: the pre-signed example zones of RFC 4035 Appendix A (NSEC)
and RFC 5155 Appendix A (NSEC3, salt aabbccdd, 12 iterations), served as they are, must give the
example responses of Appendix B of each RFC: rcode, AA, the DO bit echoed, and the answer and
authority sections as sets of RRs (owner, type, TTL, rdata; RRSIGs included).

The zones are in tests/data/rfc/, taken from the RFC text with only page furniture and indentation
removed. The expected responses below are the RFC's Appendix B text, transcribed the same way
(indentation only). The additional sections are not compared, except that a referral must carry
the in-domain glue the RFC shows there (RFC 9471 makes it mandatory): the rest is the server's own
choice (RFC 2181 section 9), and the RFCs' choices are not normative.

One freedom of a modern server is allowed in the authority section. In the positive answers
(RFC 4035 B.1 and B.6, RFC 5155 B.4) the RFCs show the apex NS RRset and its RRSIG in the authority
section; RFC 1034 section 4.3.2 and RFC 2181 section 6.1 make those optional (BIND's
minimal-responses, Knot DNS and NSD leave them out), so they may be absent, but when present they
must be exactly the RFC's. Everything else in the authority section of a positive answer (the
wildcard proofs) is required.

Errata: RFC 5155 erratum 4993 is about its Appendix A zone; its text was not at hand when these
tests were written, so zone and responses are the RFC as published. They agree with each other:
each denial proof below was checked against the NSEC/NSEC3 chain of its zone (hashes with
dnspython's nsec3_hash), and every one is complete and minimal. No erratum known to affect the
records of the RFC 4035 responses. Signatures are not validated here (they expired in 2004 and
2015, and kzonecheck finds one in each zone that never matched its RRset), only compared byte for
byte with the zone's.

The same tests run against knotd serving the same files, to show that the expectations are those
of an independent server.
"""
import dataclasses
import os

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

import servelib

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "rfc")
ZONES = {"4035": os.path.join(DATA, "rfc4035.zone"), "5155": os.path.join(DATA, "rfc5155.zone")}


@dataclasses.dataclass
class Case:
    rfc: str
    ref: str
    qname: str
    qtype: str
    rcode: int
    aa: bool
    answer: str
    authority: str
    glue: str = ""  # the referrals' Additional section: in-domain glue, required (RFC 9471)

    @property
    def id(self):
        return f"rfc{self.rfc}-{self.ref}"


# RFC 4035 Appendix B and RFC 5155 Appendix B, in the RFCs' order. Header lines are the RFCs'.
CASES = [
    # B.1.  Answer
    # ;; Header: QR AA DO RCODE=0
    Case("4035", "B.1", "x.w.example.", "MX", rcode=0, aa=True,
         answer="""
x.w.example.   3600 IN MX  1 xx.example.
x.w.example.   3600 RRSIG  MX 5 3 3600 20040509183619 (
                           20040409183619 38519 example.
                           Il2WTZ+Bkv+OytBx4LItNW5mjB4RCwhOO8y1
                           XzPHZmZUTVYL7LaA63f6T9ysVBzJRI3KRjAP
                           H3U1qaYnDoN1DrWqmi9RJe4FoObkbcdm7P3I
                           kx70ePCoFgRz1Yq+bVVXCvGuAU4xALv3W/Y1
                           jNSlwZ2mSWKHfxFQxPtLj8s32+k= )
""",
         authority="""
example.       3600 NS     ns1.example.
example.       3600 NS     ns2.example.
example.       3600 RRSIG  NS 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           gl13F00f2U0R+SWiXXLHwsMY+qStYy5k6zfd
                           EuivWc+wd1fmbNCyql0Tk7lHTX6UOxc8AgNf
                           4ISFve8XqF4q+o9qlnqIzmppU3LiNeKT4FZ8
                           RO5urFOvoMRTbQxW3U0hXWuggE4g3ZpsHv48
                           0HjMeRaZB/FRPGfJPajngcq6Kwg= )
"""),
    # B.2.  Name Error
    # ;; Header: QR AA DO RCODE=3
    Case("4035", "B.2", "ml.example.", "A", rcode=3, aa=True,
         answer="",
         authority="""
example.       3600 IN SOA ns1.example. bugs.x.w.example. (
                           1081539377
                           3600
                           300
                           3600000
                           3600
                           )
example.       3600 RRSIG  SOA 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           ONx0k36rcjaxYtcNgq6iQnpNV5+drqYAsC9h
                           7TSJaHCqbhE67Sr6aH2xDUGcqQWu/n0UVzrF
                           vkgO9ebarZ0GWDKcuwlM6eNB5SiX2K74l5LW
                           DA7S/Un/IbtDq4Ay8NMNLQI7Dw7n4p8/rjkB
                           jV7j86HyQgM5e7+miRAz8V01b0I= )
b.example.     3600 NSEC   ns1.example. NS RRSIG NSEC
b.example.     3600 RRSIG  NSEC 5 2 3600 20040509183619 (
                           20040409183619 38519 example.
                           GNuxHn844wfmUhPzGWKJCPY5ttEX/RfjDoOx
                           9ueK1PtYkOWKOOdiJ/PJKCYB3hYX+858dDWS
                           xb2qnV/LSTCNVBnkm6owOpysY97MVj5VQEWs
                           0lm9tFoqjcptQkmQKYPrwUnCSNwvvclSF1xZ
                           vhRXgWT7OuFXldoCG6TfVFMs9xE= )
example.       3600 NSEC   a.example. NS SOA MX RRSIG NSEC DNSKEY
example.       3600 RRSIG  NSEC 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           O0k558jHhyrC97ISHnislm4kLMW48C7U7cBm
                           FTfhke5iVqNRVTB1STLMpgpbDIC9hcryoO0V
                           Z9ME5xPzUEhbvGnHd5sfzgFVeGxr5Nyyq4tW
                           SDBgIBiLQUv1ivy29vhXy7WgR62dPrZ0PWvm
                           jfFJ5arXf4nPxp/kEowGgBRzY/U= )
"""),
    # B.3.  No Data Error
    # ;; Header: QR AA DO RCODE=0
    Case("4035", "B.3", "ns1.example.", "MX", rcode=0, aa=True,
         answer="",
         authority="""
example.       3600 IN SOA ns1.example. bugs.x.w.example. (
                           1081539377
                           3600
                           300
                           3600000
                           3600
                           )
example.       3600 RRSIG  SOA 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           ONx0k36rcjaxYtcNgq6iQnpNV5+drqYAsC9h
                           7TSJaHCqbhE67Sr6aH2xDUGcqQWu/n0UVzrF
                           vkgO9ebarZ0GWDKcuwlM6eNB5SiX2K74l5LW
                           DA7S/Un/IbtDq4Ay8NMNLQI7Dw7n4p8/rjkB
                           jV7j86HyQgM5e7+miRAz8V01b0I= )
ns1.example.   3600 NSEC   ns2.example. A RRSIG NSEC
ns1.example.   3600 RRSIG  NSEC 5 2 3600 20040509183619 (
                           20040409183619 38519 example.
                           I4hj+Kt6+8rCcHcUdolks2S+Wzri9h3fHas8
                           1rGN/eILdJHN7JpV6lLGPIh/8fIBkfvdyWnB
                           jjf1q3O7JgYO1UdI7FvBNWqaaEPJK3UkddBq
                           ZIaLi8Qr2XHkjq38BeQsbp8X0+6h4ETWSGT8
                           IZaIGBLryQWGLw6Y6X8dqhlnxJM= )
"""),
    # B.4.  Referral to Signed Zone
    # ;; Header: QR DO RCODE=0
    Case("4035", "B.4", "mc.a.example.", "MX", rcode=0, aa=False,
         answer="",
         authority="""
a.example.     3600 IN NS  ns1.a.example.
a.example.     3600 IN NS  ns2.a.example.
a.example.     3600 DS     57855 5 1 (
                           B6DCD485719ADCA18E5F3D48A2331627FDD3
                           636B )
a.example.     3600 RRSIG  DS 5 2 3600 20040509183619 (
                           20040409183619 38519 example.
                           oXIKit/QtdG64J/CB+Gi8dOvnwRvqrto1AdQ
                           oRkAN15FP3iZ7suB7gvTBmXzCjL7XUgQVcoH
                           kdhyCuzp8W9qJHgRUSwKKkczSyuL64nhgjuD
                           EML8l9wlWVsl7PR2VnZduM9bLyBhaaPmRKX/
                           Fm+v6ccF2EGNLRiY08kdkz+XHHo= )
""",
         glue="""
ns1.a.example. 3600 IN A   192.0.2.5
ns2.a.example. 3600 IN A   192.0.2.6
"""),
    # B.5.  Referral to Unsigned Zone
    # ;; Header: QR DO RCODE=0
    Case("4035", "B.5", "mc.b.example.", "MX", rcode=0, aa=False,
         answer="",
         authority="""
b.example.     3600 IN NS  ns1.b.example.
b.example.     3600 IN NS  ns2.b.example.
b.example.     3600 NSEC   ns1.example. NS RRSIG NSEC
b.example.     3600 RRSIG  NSEC 5 2 3600 20040509183619 (
                           20040409183619 38519 example.
                           GNuxHn844wfmUhPzGWKJCPY5ttEX/RfjDoOx
                           9ueK1PtYkOWKOOdiJ/PJKCYB3hYX+858dDWS
                           xb2qnV/LSTCNVBnkm6owOpysY97MVj5VQEWs
                           0lm9tFoqjcptQkmQKYPrwUnCSNwvvclSF1xZ
                           vhRXgWT7OuFXldoCG6TfVFMs9xE= )
""",
         glue="""
ns1.b.example. 3600 IN A   192.0.2.7
ns2.b.example. 3600 IN A   192.0.2.8
"""),
    # B.6.  Wildcard Expansion
    # ;; Header: QR AA DO RCODE=0
    Case("4035", "B.6", "a.z.w.example.", "MX", rcode=0, aa=True,
         answer="""
a.z.w.example. 3600 IN MX  1 ai.example.
a.z.w.example. 3600 RRSIG  MX 5 2 3600 20040509183619 (
                           20040409183619 38519 example.
                           OMK8rAZlepfzLWW75Dxd63jy2wswESzxDKG2
                           f9AMN1CytCd10cYISAxfAdvXSZ7xujKAtPbc
                           tvOQ2ofO7AZJ+d01EeeQTVBPq4/6KCWhqe2X
                           TjnkVLNvvhnc0u28aoSsG0+4InvkkOHknKxw
                           4kX18MMR34i8lC36SR5xBni8vHI= )
""",
         authority="""
example.       3600 NS     ns1.example.
example.       3600 NS     ns2.example.
example.       3600 RRSIG  NS 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           gl13F00f2U0R+SWiXXLHwsMY+qStYy5k6zfd
                           EuivWc+wd1fmbNCyql0Tk7lHTX6UOxc8AgNf
                           4ISFve8XqF4q+o9qlnqIzmppU3LiNeKT4FZ8
                           RO5urFOvoMRTbQxW3U0hXWuggE4g3ZpsHv48
                           0HjMeRaZB/FRPGfJPajngcq6Kwg= )
x.y.w.example. 3600 NSEC   xx.example. MX RRSIG NSEC
x.y.w.example. 3600 RRSIG  NSEC 5 4 3600 20040509183619 (
                           20040409183619 38519 example.
                           OvE6WUzN2ziieJcvKPWbCAyXyP6ef8cr6Csp
                           ArVSTzKSquNwbezZmkU7E34o5lmb6CWSSSpg
                           xw098kNUFnHcQf/LzY2zqRomubrNQhJTiDTX
                           a0ArunJQCzPjOYq5t0SLjm6qp6McJI1AP5Vr
                           QoKqJDCLnoAlcPOPKAm/jJkn3jk= )
"""),
    # B.7.  Wildcard No Data Error
    # ;; Header: QR AA DO RCODE=0
    Case("4035", "B.7", "a.z.w.example.", "AAAA", rcode=0, aa=True,
         answer="",
         authority="""
example.       3600 IN SOA ns1.example. bugs.x.w.example. (
                           1081539377
                           3600
                           300
                           3600000
                           3600
                           )
example.       3600 RRSIG  SOA 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           ONx0k36rcjaxYtcNgq6iQnpNV5+drqYAsC9h
                           7TSJaHCqbhE67Sr6aH2xDUGcqQWu/n0UVzrF
                           vkgO9ebarZ0GWDKcuwlM6eNB5SiX2K74l5LW
                           DA7S/Un/IbtDq4Ay8NMNLQI7Dw7n4p8/rjkB
                           jV7j86HyQgM5e7+miRAz8V01b0I= )
x.y.w.example. 3600 NSEC   xx.example. MX RRSIG NSEC
x.y.w.example. 3600 RRSIG  NSEC 5 4 3600 20040509183619 (
                           20040409183619 38519 example.
                           OvE6WUzN2ziieJcvKPWbCAyXyP6ef8cr6Csp
                           ArVSTzKSquNwbezZmkU7E34o5lmb6CWSSSpg
                           xw098kNUFnHcQf/LzY2zqRomubrNQhJTiDTX
                           a0ArunJQCzPjOYq5t0SLjm6qp6McJI1AP5Vr
                           QoKqJDCLnoAlcPOPKAm/jJkn3jk= )
*.w.example.   3600 NSEC   x.w.example. MX RRSIG NSEC
*.w.example.   3600 RRSIG  NSEC 5 2 3600 20040509183619 (
                           20040409183619 38519 example.
                           r/mZnRC3I/VIcrelgIcteSxDhtsdlTDt8ng9
                           HSBlABOlzLxQtfgTnn8f+aOwJIAFe1Ee5RvU
                           5cVhQJNP5XpXMJHfyps8tVvfxSAXfahpYqtx
                           91gsmcV/1V9/bZAG55CefP9cM4Z9Y9NT9XQ8
                           s1InQ2UoIv6tJEaaKkP701j8OLA= )
"""),
    # B.8.  DS Child Zone No Data Error
    # ;; Header: QR AA DO RCODE=0
    Case("4035", "B.8", "example.", "DS", rcode=0, aa=True,
         answer="",
         authority="""
example.       3600 IN SOA ns1.example. bugs.x.w.example. (
                           1081539377
                           3600
                           300
                           3600000
                           3600
                           )
example.       3600 RRSIG  SOA 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           ONx0k36rcjaxYtcNgq6iQnpNV5+drqYAsC9h
                           7TSJaHCqbhE67Sr6aH2xDUGcqQWu/n0UVzrF
                           vkgO9ebarZ0GWDKcuwlM6eNB5SiX2K74l5LW
                           DA7S/Un/IbtDq4Ay8NMNLQI7Dw7n4p8/rjkB
                           jV7j86HyQgM5e7+miRAz8V01b0I= )
example.       3600 NSEC   a.example. NS SOA MX RRSIG NSEC DNSKEY
example.       3600 RRSIG  NSEC 5 1 3600 20040509183619 (
                           20040409183619 38519 example.
                           O0k558jHhyrC97ISHnislm4kLMW48C7U7cBm
                           FTfhke5iVqNRVTB1STLMpgpbDIC9hcryoO0V
                           Z9ME5xPzUEhbvGnHd5sfzgFVeGxr5Nyyq4tW
                           SDBgIBiLQUv1ivy29vhXy7WgR62dPrZ0PWvm
                           jfFJ5arXf4nPxp/kEowGgBRzY/U= )
"""),
    # B.1.  Name Error
    # ;; Header: QR AA DO RCODE=3
    Case("5155", "B.1", "a.c.x.w.example.", "A", rcode=3, aa=True,
         answer="",
         authority="""
example.       SOA     ns1.example. bugs.x.w.example. 1 3600 300 (
                       3600000 3600 )
example.       RRSIG   SOA 7 1 3600 20150420235959 20051021000000 (
                       40430 example.
                       Hu25UIyNPmvPIVBrldN+9Mlp9Zql39qaUd8i
                       q4ZLlYWfUUbbAS41pG+68z81q1xhkYAcEyHd
                       VI2LmKusbZsT0Q== )
;; NSEC3 RR that covers the "next closer" name (c.x.w.example)
;; H(c.x.w.example) = 0va5bpr2ou0vk0lbqeeljri88laipsfh
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd (
                       2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS
                       SOA NSEC3PARAM RRSIG )
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       OSgWSm26B+cS+dDL8b5QrWr/dEWhtCsKlwKL
                       IBHYH6blRxK9rC0bMJPwQ4mLIuw85H2EY762
                       BOCXJZMnpuwhpA== )
;; NSEC3 RR that matches the closest encloser (x.w.example)
;; H(x.w.example) = b4um86eghhds6nea196smvmlo4ors995
b4um86eghhds6nea196smvmlo4ors995.example. NSEC3 1 1 12 aabbccdd (
                       gjeqe526plbf1g8mklp59enfd789njgi MX RRSIG )
b4um86eghhds6nea196smvmlo4ors995.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       ZkPG3M32lmoHM6pa3D6gZFGB/rhL//Bs3Omh
                       5u4m/CUiwtblEVOaAKKZd7S959OeiX43aLX3
                       pOv0TSTyiTxIZg== )
;; NSEC3 RR that covers wildcard at the closest encloser (*.x.w.example)
;; H(*.x.w.example) = 92pqneegtaue7pjatc3l3qnk738c6v5m
35mthgpgcu1qg68fab165klnsnk3dpvl.example. NSEC3 1 1 12 aabbccdd (
                       b4um86eghhds6nea196smvmlo4ors995 NS DS RRSIG )
35mthgpgcu1qg68fab165klnsnk3dpvl.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       g6jPUUpduAJKRljUsN8gB4UagAX0NxY9shwQ
                       Aynzo8EUWH+z6hEIBlUTPGj15eZll6VhQqgZ
                       XtAIR3chwgW+SA== )
"""),
    # B.2.  No Data Error
    # ;; Header: QR AA DO RCODE=0
    Case("5155", "B.2", "ns1.example.", "MX", rcode=0, aa=True,
         answer="",
         authority="""
example.       SOA     ns1.example. bugs.x.w.example. 1 3600 300 (
                       3600000 3600 )
example.       RRSIG   SOA 7 1 3600 20150420235959 20051021000000 (
                       40430 example.
                       Hu25UIyNPmvPIVBrldN+9Mlp9Zql39qaUd8i
                       q4ZLlYWfUUbbAS41pG+68z81q1xhkYAcEyHd
                       VI2LmKusbZsT0Q== )
;; NSEC3 RR matches the QNAME and shows that the MX type bit is not set.
2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. NSEC3 1 1 12 aabbccdd (
                       2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG )
2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       OmBvJ1Vgg1hCKMXHFiNeIYHK9XVW0iLDLwJN
                       4TFoNxZuP03gAXEI634YwOc4YBNITrj413iq
                       NI6mRk/r1dOSUw== )
"""),
    # B.2.1.  No Data Error, Empty Non-Terminal
    # ;; Header: QR AA DO RCODE=0
    Case("5155", "B.2.1", "y.w.example.", "A", rcode=0, aa=True,
         answer="",
         authority="""
example.       SOA     ns1.example. bugs.x.w.example. 1 3600 300 (
                       3600000 3600 )
example.       RRSIG   SOA 7 1 3600 20150420235959 20051021000000 (
                       40430 example.
                       Hu25UIyNPmvPIVBrldN+9Mlp9Zql39qaUd8i
                       q4ZLlYWfUUbbAS41pG+68z81q1xhkYAcEyHd
                       VI2LmKusbZsT0Q== )
;; NSEC3 RR matches the QNAME and shows that the A type bit is not set.
ji6neoaepv8b5o6k4ev33abha8ht9fgc.example. NSEC3 1 1 12 aabbccdd (
                       k8udemvp1j2f7eg6jebps17vp3n8i58h )
ji6neoaepv8b5o6k4ev33abha8ht9fgc.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       gPkFp1s2QDQ6wQzcg1uSebZ61W33rUBDcTj7
                       2F3kQ490fEdp7k1BUIfbcZtPbX3YCpE+sIt0
                       MpzVSKfTwx4uYA== )
"""),
    # B.3.  Referral to an Opt-Out Unsigned Zone
    # ;; Header: QR DO RCODE=0
    Case("5155", "B.3", "mc.c.example.", "MX", rcode=0, aa=False,
         answer="",
         authority="""
c.example.     NS      ns1.c.example.
               NS      ns2.c.example.
;; NSEC3 RR that covers the "next closer" name (c.example)
;; H(c.example) = 4g6p9u5gvfshp30pqecj98b3maqbn1ck
35mthgpgcu1qg68fab165klnsnk3dpvl.example. NSEC3 1 1 12 aabbccdd (
                       b4um86eghhds6nea196smvmlo4ors995 NS DS RRSIG )
35mthgpgcu1qg68fab165klnsnk3dpvl.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       g6jPUUpduAJKRljUsN8gB4UagAX0NxY9shwQ
                       Aynzo8EUWH+z6hEIBlUTPGj15eZll6VhQqgZ
                       XtAIR3chwgW+SA== )
;; NSEC3 RR that matches the closest encloser (example)
;; H(example) = 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd (
                       2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS
                       SOA NSEC3PARAM RRSIG )
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       OSgWSm26B+cS+dDL8b5QrWr/dEWhtCsKlwKL
                       IBHYH6blRxK9rC0bMJPwQ4mLIuw85H2EY762
                       BOCXJZMnpuwhpA== )
""",
         glue="""
ns1.c.example. A       192.0.2.7
ns2.c.example. A       192.0.2.8
"""),
    # B.4.  Wildcard Expansion
    # ;; Header: QR AA DO RCODE=0
    Case("5155", "B.4", "a.z.w.example.", "MX", rcode=0, aa=True,
         answer="""
a.z.w.example. MX      1 ai.example.
a.z.w.example. RRSIG   MX 7 2 3600 20150420235959 20051021000000 (
                       40430 example.
                       CikebjQwGQPwijVcxgcZcSJKtfynugtlBiKb
                       9FcBTrmOoyQ4InoWVudhCWsh/URX3lc4WRUM
                       ivEBP6+4KS3ldA== )
""",
         authority="""
example.       NS      ns1.example.
example.       NS      ns2.example.
example.       RRSIG   NS 7 1 3600 20150420235959 20051021000000 (
                       40430 example.
                       PVOgtMK1HHeSTau+HwDWC8Ts+6C8qtqd4pQJ
                       qOtdEVgg+MA+ai4fWDEhu3qHJyLcQ9tbD2vv
                       CnMXjtz6SyObxA== )
;; NSEC3 RR that covers the "next closer" name (z.w.example)
;; H(z.w.example) = qlu7gtfaeh0ek0c05ksfhdpbcgglbe03
q04jkcevqvmu85r014c7dkba38o0ji5r.example. NSEC3 1 1 12 aabbccdd (
                       r53bq7cc2uvmubfu5ocmm6pers9tk9en A RRSIG )
q04jkcevqvmu85r014c7dkba38o0ji5r.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       hV5I89b+4FHJDATp09g4bbN0R1F845CaXpL3
                       ZxlMKimoPAyqletMlEWwLfFia7sdpSzn+ZlN
                       NlkxWcLsIlMmUg== )
"""),
    # B.5.  Wildcard No Data Error
    # ;; Header: QR AA DO RCODE=0
    Case("5155", "B.5", "a.z.w.example.", "AAAA", rcode=0, aa=True,
         answer="",
         authority="""
example.       SOA     ns1.example. bugs.x.w.example. 1 3600 300 (
                       3600000 3600 )
example.       RRSIG   SOA 7 1 3600 20150420235959 20051021000000 (
                       40430 example.
                       Hu25UIyNPmvPIVBrldN+9Mlp9Zql39qaUd8i
                       q4ZLlYWfUUbbAS41pG+68z81q1xhkYAcEyHd
                       VI2LmKusbZsT0Q== )
;; NSEC3 RR that matches the closest encloser (w.example)
;; H(w.example) = k8udemvp1j2f7eg6jebps17vp3n8i58h
k8udemvp1j2f7eg6jebps17vp3n8i58h.example. NSEC3 1 1 12 aabbccdd (
                       kohar7mbb8dc2ce8a9qvl8hon4k53uhi )
k8udemvp1j2f7eg6jebps17vp3n8i58h.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       FtXGbvF0+wf8iWkyo73enAuVx03klN+pILBK
                       S6qCcftVtfH4yVzsEZquJ27NHR7ruxJWDNMt
                       Otx7w9WfcIg62A== )
;; NSEC3 RR that covers the "next closer" name (z.w.example)
;; H(z.w.example) = qlu7gtfaeh0ek0c05ksfhdpbcgglbe03
q04jkcevqvmu85r014c7dkba38o0ji5r.example. NSEC3 1 1 12 aabbccdd (
                       r53bq7cc2uvmubfu5ocmm6pers9tk9en A RRSIG )
q04jkcevqvmu85r014c7dkba38o0ji5r.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       hV5I89b+4FHJDATp09g4bbN0R1F845CaXpL3
                       ZxlMKimoPAyqletMlEWwLfFia7sdpSzn+ZlN
                       NlkxWcLsIlMmUg== )
;; NSEC3 RR that matches a wildcard at the closest encloser.
;; H(*.w.example) = r53bq7cc2uvmubfu5ocmm6pers9tk9en
r53bq7cc2uvmubfu5ocmm6pers9tk9en.example. NSEC3 1 1 12 aabbccdd (
                       t644ebqk9bibcna874givr6joj62mlhv MX RRSIG )
r53bq7cc2uvmubfu5ocmm6pers9tk9en.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       aupviViruXs4bDg9rCbezzBMf9h1ZlDvbW/C
                       ZFKulIGXXLj8B/fsDJarXVDA9bnUoRhEbKp+
                       HF1FWKW7RIJdtQ== )
"""),
    # B.6.  DS Child Zone No Data Error
    # ;; Header: QR AA DO RCODE=0
    # The RFC text of this response lacks the "(" after "RRSIG NSEC3 7 2 3600" that its ")"
    # closes (a typesetting slip: the same record is printed whole in B.1, B.3 and Appendix A);
    # it is added.
    Case("5155", "B.6", "example.", "DS", rcode=0, aa=True,
         answer="",
         authority="""
example.       SOA     ns1.example. bugs.x.w.example. 1 3600 300 (
                       3600000 3600 )
example.       RRSIG   SOA 7 1 3600 20150420235959 20051021000000 (
                       40430 example.
                       Hu25UIyNPmvPIVBrldN+9Mlp9Zql39qaUd8i
                       q4ZLlYWfUUbbAS41pG+68z81q1xhkYAcEyHd
                       VI2LmKusbZsT0Q== )
;; NSEC3 RR matches the QNAME and shows that the DS type bit is not set.
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd (
                       2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS
                       SOA NSEC3PARAM RRSIG )
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. RRSIG NSEC3 7 2 3600 (
                       20150420235959 20051021000000 40430 example.
                       OSgWSm26B+cS+dDL8b5QrWr/dEWhtCsKlwKL
                       IBHYH6blRxK9rC0bMJPwQ4mLIuw85H2EY762
                       BOCXJZMnpuwhpA== )
"""),
]


def rr_set(text):
    """The RRs of zone-file text as a set of (owner, type, covered type, TTL, canonical rdata)."""
    return {rr_key(*rr) for rr in rrs_of_text(text)}


def rr_key(name, ttl, rd):
    return (name.to_text().lower(), dns.rdatatype.to_text(rd.rdtype),
            dns.rdatatype.to_text(rd.covers()), ttl, rd.to_digestable().hex())


def section_set(rrsets):
    out = set()
    for rrset in rrsets:
        for rd in rrset:
            out.add(rr_key(rrset.name, rrset.ttl, rd))
    return out


def show(keys, texts):
    return "\n".join(sorted(texts.get(k, repr(k)) for k in keys))


def texts_of(*groups):
    """Printable forms of the RRs, for failure messages."""
    out = {}
    for g in groups:
        for name, ttl, rd in g:
            out[rr_key(name, ttl, rd)] = f"{name} {ttl} {dns.rdatatype.to_text(rd.rdtype)} {rd}"
    return out


def rrs_of_text(text):
    """(owner, TTL, rdata) of each RR in zone-file text. The RFC 5155 responses leave out TTL and
    class as its Appendix A does ("The overall TTL and class are specified in the SOA RR"): 3600."""
    if not text.strip():
        return []
    z = dns.zone.from_text("$TTL 3600\n" + text, origin=dns.name.from_text("example."),
                           relativize=False, check_origin=False)
    return [(name, rds.ttl, rd) for name, node in z.nodes.items() for rds in node.rdatasets
            for rd in rds]


def rrs_of_section(rrsets):
    return [(rrset.name, rrset.ttl, rd) for rrset in rrsets for rd in rrset]


def ask(port, qname, qtype, transport="udp"):
    """One query as the RFC examples show it: DO set, RD clear. Over UDP a truncated answer is
    asked again over TCP; "tcp" asks over TCP only."""
    q = dns.message.make_query(qname, qtype, want_dnssec=True, payload=4096)
    q.flags &= ~dns.flags.RD
    if transport == "tcp":
        return dns.query.tcp(q, servelib.ADDR, port=port, timeout=5)
    r = dns.query.udp(q, servelib.ADDR, port=port, timeout=5)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, servelib.ADDR, port=port, timeout=5)
    return r


def mixed_case(name):
    """x.w.example. -> X.w.ExAmPlE.: names compare without regard to case (RFC 4343)."""
    return "".join(c.upper() if i % 2 == 0 else c for i, c in enumerate(name))


class Servers:
    """One server per (kind, RFC), started on first use and stopped when the module ends."""

    def __init__(self, base):
        self.base = base
        self.running = {}

    def get(self, kind, rfc):
        key = (kind, rfc)
        if key not in self.running:
            workdir = os.path.join(self.base, f"{kind}-{rfc}")
            os.makedirs(workdir, exist_ok=True)
            zones = [("example.", ZONES[rfc])]
            if kind == "ensign":
                srv = servelib.Ensign(zones, workdir=workdir)
            else:
                srv = servelib.Knotd(zones, workdir=workdir)
            srv.__enter__()
            self.running[key] = srv
        return self.running[key]

    def close(self):
        errors = []
        for srv in self.running.values():
            try:
                srv.__exit__(None, None, None)
            except AssertionError as e:  # a sanitizer report or a bad exit status
                errors.append(str(e))
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    s = Servers(str(tmp_path_factory.mktemp("rfc-servers")))
    yield s
    s.close()


def apex_ns_keys(rfc):
    """The apex NS RRset and its RRSIG, as the RFC's zone has them."""
    keys = set()
    with open(ZONES[rfc]) as f:
        z = dns.zone.from_file(f, origin=dns.name.from_text("example."), relativize=False,
                               check_origin=False)
    apex = dns.name.from_text("example.")
    node = z.nodes[apex]
    for rds in node.rdatasets:
        if rds.rdtype == dns.rdatatype.NS or (rds.rdtype == dns.rdatatype.RRSIG
                                              and rds.covers == dns.rdatatype.NS):
            for rd in rds:
                keys.add(rr_key(apex, rds.ttl, rd))
    return keys


@pytest.mark.parametrize("kind", ["ensign", "knotd"])
@pytest.mark.parametrize("how", ["udp", "tcp", "udp-mixed-case"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rfc_example_response(servers, kind, how, case):
    srv = servers.get(kind, case.rfc)
    qname = mixed_case(case.qname) if how.endswith("mixed-case") else case.qname
    r = ask(srv.port, qname, case.qtype, how.split("-")[0])
    where = f"RFC {case.rfc} {case.ref} ({how}): {qname} {case.qtype}"
    assert r.rcode() == case.rcode, f"{where}: rcode {dns.rcode.to_text(r.rcode())}"
    assert bool(r.flags & dns.flags.AA) == case.aa, f"{where}: AA is {bool(r.flags & dns.flags.AA)}"
    assert r.edns == 0 and r.ednsflags & dns.flags.DO, f"{where}: DO bit not echoed (RFC 3225)"
    assert len(r.question) == 1 and r.question[0].name.to_text() == qname, (
        f"{where}: question section {r.question} (copied as asked, case included: RFC 4343 4.1)")

    texts = texts_of(rrs_of_text(case.answer), rrs_of_text(case.authority),
                     rrs_of_section(r.answer), rrs_of_section(r.authority))
    want_ans, got_ans = rr_set(case.answer), section_set(r.answer)
    assert got_ans == want_ans, (
        f"{where}: answer section differs\nmissing:\n{show(want_ans - got_ans, texts)}\n"
        f"unexpected:\n{show(got_ans - want_ans, texts)}")

    want_auth, got_auth = rr_set(case.authority), section_set(r.authority)
    if want_ans:
        # a positive answer: the apex NS RRset (with its RRSIG) may be left out, not changed
        ns = apex_ns_keys(case.rfc)
        assert ns <= want_auth
        if not (got_auth & ns):
            want_auth = want_auth - ns
    assert got_auth == want_auth, (
        f"{where}: authority section differs\nmissing:\n{show(want_auth - got_auth, texts)}\n"
        f"unexpected:\n{show(got_auth - want_auth, texts)}")

    want_glue, got_add = rr_set(case.glue), section_set(r.additional)
    assert want_glue <= got_add, (
        f"{where}: glue missing from the additional section (RFC 9471)\n"
        f"{show(want_glue - got_add, texts_of(rrs_of_text(case.glue)))}")


EXPECTED_COUNTS = {"4035": 63, "5155": 70}


def test_rfc_zone_files_are_the_rfc_zones():
    """The data files hold every record of the Appendix A zones (counted in the RFC text), so that
    a damaged file shows up here rather than as odd answers."""
    counts = {}
    for rfc, path in ZONES.items():
        with open(path) as f:
            z = dns.zone.from_file(f, origin=dns.name.from_text("example."), relativize=False,
                                   check_origin=False)
        counts[rfc] = sum(len(rds) for node in z.nodes.values() for rds in node.rdatasets)
    assert counts == EXPECTED_COUNTS, counts
