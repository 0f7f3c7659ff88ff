import ZeroMQ
let v = zmqVersion()
print("abm (libzmq \(v.major).\(v.minor).\(v.patch))")
