/** Messages a FUSE worker posts to the main thread (ctx.post). */
export interface AccessMessage {
  type: "access";
  fileId: number;
  offset: number;
  size: number;
  atMs: number;
}

export type WorkerMessage = AccessMessage;
