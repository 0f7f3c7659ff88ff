import ZeroMQ
print(zmqVersion())
