package model

// Docker Engine API shapes (API version 1.41, Docker 20.10) for networks, so
// the stock docker CLI pointed at the controller works unchanged.

// DockerAPIVersion is the Engine API version the controller speaks.
const DockerAPIVersion = "1.41"

// Driver options ovsnet understands, in Docker's -o key=value form.
const (
	// OptHost names the host owning a bridge (local-scope) network.
	OptHost = "ovsnet.host"
	// OptMTU is Docker's standard MTU option.
	OptMTU = "com.docker.network.driver.mtu"
	// OptAuxPrefix starts the options that hold a network's auxiliary
	// addresses (Docker's --aux-address NAME=ADDR): ovsnet.aux.NAME.
	OptAuxPrefix = "ovsnet.aux."
	// OptVNI is what Docker's overlay driver reports its VXLAN id under.
	OptVNI = "com.docker.network.driver.overlay.vxlanid_list"
	// Endpoint driver options for containers that are plain network
	// namespaces (no Docker engine): where they run and their netns path.
	OptEndpointHost   = "ovsnet.host"
	OptEndpointNetns  = "ovsnet.netns"
	OptEndpointIfName = "ovsnet.ifname"
)

// ErrorResponse is the Engine API's error body.
type ErrorResponse struct {
	Message string `json:"message"`
}

// IPAMConfig is one pool of a network.
type IPAMConfig struct {
	Subnet             string            `json:"Subnet,omitempty"`
	IPRange            string            `json:"IPRange,omitempty"`
	Gateway            string            `json:"Gateway,omitempty"`
	AuxiliaryAddresses map[string]string `json:"AuxiliaryAddresses,omitempty"`
}

// IPAM is a network's address configuration.
type IPAM struct {
	Driver  string            `json:"Driver"`
	Options map[string]string `json:"Options"`
	Config  []IPAMConfig      `json:"Config"`
}

// NetworkCreateRequest is the body of POST /networks/create.
type NetworkCreateRequest struct {
	Name           string            `json:"Name"`
	CheckDuplicate bool              `json:"CheckDuplicate,omitempty"`
	Driver         string            `json:"Driver,omitempty"`
	Scope          string            `json:"Scope,omitempty"`
	EnableIPv6     bool              `json:"EnableIPv6,omitempty"`
	IPAM           *IPAM             `json:"IPAM,omitempty"`
	Internal       bool              `json:"Internal,omitempty"`
	Attachable     bool              `json:"Attachable,omitempty"`
	Ingress        bool              `json:"Ingress,omitempty"`
	ConfigOnly     bool              `json:"ConfigOnly,omitempty"`
	ConfigFrom     *ConfigReference  `json:"ConfigFrom,omitempty"`
	Options        map[string]string `json:"Options,omitempty"`
	Labels         map[string]string `json:"Labels,omitempty"`
}

// ConfigReference is Docker's config-from network reference (unsupported).
type ConfigReference struct {
	Network string `json:"Network"`
}

// NetworkCreateResponse is the reply to POST /networks/create.
type NetworkCreateResponse struct {
	ID      string `json:"Id"`
	Warning string `json:"Warning"`
}

// EndpointResource is a container's entry in NetworkResource.Containers.
type EndpointResource struct {
	Name        string `json:"Name"`
	EndpointID  string `json:"EndpointID"`
	MacAddress  string `json:"MacAddress"`
	IPv4Address string `json:"IPv4Address"`
	IPv6Address string `json:"IPv6Address"`
	// Host is ovsnet's addition: where the container runs.
	Host string `json:"Host,omitempty"`
}

// NetworkResource is what GET /networks returns per network.
type NetworkResource struct {
	Name       string                      `json:"Name"`
	ID         string                      `json:"Id"`
	Created    string                      `json:"Created"`
	Scope      string                      `json:"Scope"`
	Driver     string                      `json:"Driver"`
	EnableIPv6 bool                        `json:"EnableIPv6"`
	IPAM       IPAM                        `json:"IPAM"`
	Internal   bool                        `json:"Internal"`
	Attachable bool                        `json:"Attachable"`
	Ingress    bool                        `json:"Ingress"`
	ConfigFrom ConfigReference             `json:"ConfigFrom"`
	ConfigOnly bool                        `json:"ConfigOnly"`
	Containers map[string]EndpointResource `json:"Containers"`
	Options    map[string]string           `json:"Options"`
	Labels     map[string]string           `json:"Labels"`
}

// EndpointIPAMConfig is a container's address choice on connect.
type EndpointIPAMConfig struct {
	IPv4Address  string   `json:"IPv4Address,omitempty"`
	IPv6Address  string   `json:"IPv6Address,omitempty"`
	LinkLocalIPs []string `json:"LinkLocalIPs,omitempty"`
}

// EndpointSettings is Docker's per-network endpoint configuration.
type EndpointSettings struct {
	IPAMConfig          *EndpointIPAMConfig `json:"IPAMConfig,omitempty"`
	Links               []string            `json:"Links,omitempty"`
	Aliases             []string            `json:"Aliases,omitempty"`
	NetworkID           string              `json:"NetworkID,omitempty"`
	EndpointID          string              `json:"EndpointID,omitempty"`
	Gateway             string              `json:"Gateway,omitempty"`
	IPAddress           string              `json:"IPAddress,omitempty"`
	IPPrefixLen         int                 `json:"IPPrefixLen,omitempty"`
	IPv6Gateway         string              `json:"IPv6Gateway,omitempty"`
	GlobalIPv6Address   string              `json:"GlobalIPv6Address,omitempty"`
	GlobalIPv6PrefixLen int                 `json:"GlobalIPv6PrefixLen,omitempty"`
	MacAddress          string              `json:"MacAddress,omitempty"`
	DriverOpts          map[string]string   `json:"DriverOpts,omitempty"`
}

// NetworkConnectRequest is the body of POST /networks/{id}/connect.
type NetworkConnectRequest struct {
	Container      string            `json:"Container"`
	EndpointConfig *EndpointSettings `json:"EndpointConfig,omitempty"`
}

// NetworkDisconnectRequest is the body of POST /networks/{id}/disconnect.
type NetworkDisconnectRequest struct {
	Container string `json:"Container"`
	Force     bool   `json:"Force"`
}

// EndpointView is ovsnet's own endpoint listing entry (/ovsnet/v1/endpoints).
type EndpointView struct {
	Endpoint
	NetworkName string          `json:"networkName"`
	Status      *EndpointStatus `json:"status,omitempty"`
}

// ConnectResponse is ovsnet's reply to a connect: the endpoint it made.
type ConnectResponse = EndpointView

// ReserveRequest asks the controller for an address on a network ahead of
// the endpoint (Docker's IPAM RequestAddress).
type ReserveRequest struct {
	// Address is the preferred address (Docker's --ip/--ip6); empty for the
	// lowest free one.
	Address string `json:"address,omitempty"`
	// IPv6 asks for an IPv6 address when Address is empty.
	IPv6 bool   `json:"ipv6,omitempty"`
	Host string `json:"host"`
}

// ReserveResponse is the reserved address with its prefix length.
type ReserveResponse struct {
	Address string `json:"address"`
}

// EndpointUpdate changes what Docker tells the agent only after an endpoint
// exists: which container it belongs to, its aliases and links, and its
// published ports. Nil fields are left alone.
type EndpointUpdate struct {
	ContainerID   *string        `json:"containerId,omitempty"`
	ContainerName *string        `json:"containerName,omitempty"`
	Aliases       *[]string      `json:"aliases,omitempty"`
	Links         *[]Link        `json:"links,omitempty"`
	Published     *[]PortMapping `json:"published,omitempty"`
}
