package io.berth.agent.cri;

import io.berth.cri.v1.ImageServiceGrpc;

/** The CRI ImageService. Every RPC answers UNIMPLEMENTED, naming itself, until images land. */
public final class CriImageService extends ImageServiceGrpc.ImageServiceImplBase {
}
