/* ensign command line: policy and webhook commands over the API of a running `ensign serve`. */
#ifndef ENS_CLI_POLICYCMD_H
#define ENS_CLI_POLICYCMD_H

/* `ensign policy list|show NAME|create NAME [--FIELD VALUE]...|set NAME --FIELD VALUE...|
 * delete NAME` and `ensign webhook list|add URL --secret S [--events a,b] [--zone Z]|
 * delete ID`; argv[0] is "policy" or "webhook". Takes the client options of the other API
 * commands (--url, --token, --config, --json). Returns the API commands' exit statuses: 0 done,
 * 1 refused, 2 usage, 3 not found, 4 conflict, 5 unreachable, 6 not authorised. */
int ens_cli_policy(int argc, char **argv);

#endif
