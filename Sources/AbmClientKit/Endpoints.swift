import CampaignGateway

/// The three endpoints of a server (CONTRACT.md defaults): the same type the server binds.
public typealias AbmEndpoints = GatewayEndpoints
