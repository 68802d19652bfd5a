package io.berth.net;

/** Chooses the pod network: CNI plugins when the CNI conf dir holds a config, else the built-in bridge network. */
public final class PodNetworks {
    private PodNetworks() {
    }

    /**
     * {@link CniNetwork} when {@code config.cniConfDir()} holds a .conf/.conflist/.json (even a broken
     * one: its {@link PodNetwork#status()} then reports the parser's error, as kubelet expects for a
     * node whose CNI is misconfigured), else {@link BridgeNetwork}. Run on a host-netns thread: the
     * built-in network opens its netlink socket in the caller's netns.
     */
    public static PodNetwork create(NetworkConfig config) {
        if (CniConfig.find(config.cniConfDir()).isPresent()) {
            return new CniNetwork(config);
        }
        return new BridgeNetwork(config);
    }
}
