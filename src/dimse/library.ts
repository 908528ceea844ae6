/**
 * dcmjs-dimse (a CommonJS bundle) in one place: its classes and constants, and its own logger
 * silenced (it logs every PDU at info on the console); the node writes one line per association
 * itself (association-log.ts).
 */
import dcmjsDimse from 'dcmjs-dimse';

export const { Scp, Client, Dataset, Implementation, constants, association, requests, responses, log: dimseLog } = dcmjsDimse;
export type DimseAssociation = InstanceType<typeof association.Association>;
export type DimsePresentationContext = InstanceType<typeof association.PresentationContext>;
export type CStoreRequest = InstanceType<typeof requests.CStoreRequest>;
export type CStoreResponse = InstanceType<typeof responses.CStoreResponse>;
export type CEchoRequest = InstanceType<typeof requests.CEchoRequest>;
export type CEchoResponse = InstanceType<typeof responses.CEchoResponse>;

dimseLog.setLevel(process.env.CT_MUSCLE_NODE_DIMSE_TRACE ? 'trace' : 'silent');
