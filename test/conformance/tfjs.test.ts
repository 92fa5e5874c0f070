import { describeConformance } from './suite';

describeConformance('tfjs');
