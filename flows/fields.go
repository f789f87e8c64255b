package flows

import "fmt"

// Registers, named once. Flow code refers to these, never to raw names.
//
//	reg0[0..31]: the packet's network (its VNI), set by Classify,
//	             TunnelIngress or NATReturn and matched by every later table.
const networkReg = FieldReg0

// matchNetwork matches packets of network vni.
func matchNetwork(vni uint32) Match { return matchUint(networkReg, uint64(vni)) }

// setNetwork tags a packet with network vni.
func setNetwork(vni uint32) Action { return setUint(networkReg, uint64(vni)) }

func hex(v uint64) string { return fmt.Sprintf("%#x", v) }
