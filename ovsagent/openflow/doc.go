// Package openflow is ovsnet's OpenFlow 1.4 codec: it turns the typed flows
// of package flows into the wire messages Open vSwitch accepts on a bridge's
// management socket, and the switch's replies back into typed values.
//
// It covers exactly what the agent needs and nothing more: HELLO (version
// bitmap), ECHO, ERROR, BARRIER, FLOW_MOD (add, strict delete and
// non-strict delete), BUNDLE_CONTROL and BUNDLE_ADD_MESSAGE, and the
// flow-stats MULTIPART request and reply. Matches are OXM/NXM TLVs for every
// flows.FieldID, actions the closed set of flows.Action types (OUTPUT,
// SET_FIELD, Nicira REG_MOVE and CT with NAT, GOTO_TABLE).
//
// The package does no I/O: every encoder appends one whole message to a
// byte slice (so callers can reuse buffers and write straight into a
// bufio.Writer), every decoder reads one whole message. Package ofconn runs
// the connection.
//
// Field and action numbers follow Open vSwitch's own headers
// (include/openflow/*.h, lib/meta-flow.h, lib/ofp-actions.c); the nd_reserved
// and nd_options_type fields are OVS extensions in OXM class 0x1000
// (ERICOXM_OF_ICMPV6_ND_RESERVED = 1, ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE = 2).
package openflow
